//! Grapheme clusters that terminals draw at different widths: 👨‍👩‍👧 or 👍🏽
//! take two columns where a terminal combines them, and as many as their
//! parts (six, four) where it draws each part. The client counts two; in a
//! terminal that draws the parts, the overflow would stay on the screen
//! wherever the next frame sees nothing to change ("stray cells").
//!
//! After each draw, every cell after such a cluster (to the end of its row,
//! and on the next row when the overflow could wrap there) is written again
//! with the frame, so the terminal overwrites the overflow at once: such a
//! terminal shows the cluster's first part, a combining one shows it whole,
//! and nothing is left behind in either.

use ratatui::buffer::{Buffer, CellDiffOption};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns a terminal that draws each part of `cluster` may use beyond the
/// cluster's own width.
fn overflow(cluster: &str) -> u16 {
    let own = cluster.width();
    let parts: usize = cluster.chars().map(|c| c.width().unwrap_or(0)).sum();
    u16::try_from(parts.saturating_sub(own)).unwrap_or(u16::MAX)
}

/// Marks the cells after clusters of uncertain width to be written with
/// every frame (see the module's comment).
pub fn settle_uncertain_widths(buffer: &mut Buffer) {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &buffer[(x, y)];
            let extra = overflow(cell.symbol());
            if extra == 0 {
                continue;
            }
            let end = x.saturating_add(cell.symbol().width().max(1) as u16);
            for after in end..area.right() {
                buffer[(after, y)].set_diff_option(CellDiffOption::AlwaysUpdate);
            }
            // Overflow past the right edge wraps to the next row.
            let room = area.right().saturating_sub(end);
            if extra > room && y + 1 < area.bottom() {
                let wrapped = area.left().saturating_add(extra - room).min(area.right());
                for x in area.left()..wrapped {
                    buffer[(x, y + 1)].set_diff_option(CellDiffOption::AlwaysUpdate);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn only_clusters_drawn_wider_by_their_parts_overflow() {
        assert_eq!(overflow("👨\u{200d}👩\u{200d}👧"), 4);
        assert_eq!(overflow("👍🏽"), 2);
        assert_eq!(overflow("e\u{301}"), 0);
        assert_eq!(overflow("界"), 0);
        assert_eq!(overflow("x"), 0);
    }

    #[test]
    fn the_cells_after_an_overflowing_cluster_are_always_written() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 8, 2));
        buffer.set_string(0, 0, "a👍🏽b", ratatui::style::Style::new());
        buffer.set_string(6, 1, "界", ratatui::style::Style::new());
        settle_uncertain_widths(&mut buffer);
        let forced = |x: u16, y: u16| buffer[(x, y)].diff_option == CellDiffOption::AlwaysUpdate;
        assert!(!forced(0, 0) && !forced(1, 0) && !forced(2, 0));
        assert!((3..8).all(|x| forced(x, 0)), "the rest of the row");
        assert!(
            (0..8).all(|x| !forced(x, 1)),
            "a CJK character is no such case"
        );
    }
}
