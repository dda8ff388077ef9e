//! The panes around the messages: the room list (left) with unread counts
//! and mention marks, the member list of the room in view (right), and the
//! room's header (above) with its topic, modes and the user's role.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::render::name_colour;
use crate::format::sanitize;
use crate::moderation::{Role, RoomSettings};
use crate::view::moderation::{describe_modes, role};

/// `label` cut to `width` columns (whole characters).
fn fit(label: &str, width: usize) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if out.width() + c.to_string().width() > width {
            break;
        }
        out.push(c);
    }
    out
}

/// One line per buffer: its number (for Alt-1..9), its name, and its
/// unread count, `!` after it when the user was mentioned.
pub(super) fn render_rooms(frame: &mut Frame, area: Rect, app: &App) {
    let inner = area.width.saturating_sub(1) as usize;
    let mut lines = Vec::new();
    for (i, buffer) in app.buffers.iter().enumerate() {
        let number = format!("{:>2} ", i + 1);
        let count = match (buffer.unread, buffer.mention) {
            (0, _) => String::new(),
            (n, false) => format!(" {n}"),
            (n, true) => format!(" {n}!"),
        };
        let room = inner.saturating_sub(number.width() + count.width());
        let label = fit(&buffer.label(), room);
        let padding = " ".repeat(room - label.width());
        let mut style = Style::new();
        if buffer.unread > 0 {
            style = style.add_modifier(Modifier::BOLD);
        }
        if app.buffers.is_focused(i) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let count_style = if buffer.mention {
            style.fg(Color::LightRed)
        } else {
            style.fg(Color::Yellow)
        };
        lines.push(Line::from(vec![
            Span::styled(number, style.fg(Color::DarkGray)),
            Span::styled(label + &padding, style),
            Span::styled(count, count_style),
        ]));
    }
    let block = Block::new()
        .borders(Borders::RIGHT)
        .border_style(Style::new().fg(Color::DarkGray));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The members of the room in view, with the count the status bar shows.
pub(super) fn render_members(frame: &mut Frame, area: Rect, app: &App) {
    let inner = area.width.saturating_sub(1) as usize;
    let members = &app.buffers.focused().members;
    let mut lines = vec![Line::styled(
        fit(&format!("{} here", members.count()), inner),
        Style::new().fg(Color::DarkGray),
    )];
    for name in members.names() {
        lines.push(Line::styled(
            fit(name, inner),
            Style::new().fg(name_colour(name)),
        ));
    }
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_style(Style::new().fg(Color::DarkGray));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// ` #rust [+m, limit 50] [a room operator] │ Rust talk: be kind`: the
/// topic last, cut at the edge (`/topic` shows it whole).
pub(super) fn render_header(frame: &mut Frame, area: Rect, settings: &RoomSettings) {
    let bar = Style::new().bg(Color::Blue).fg(Color::White);
    let mut spans = vec![Span::styled(
        format!(" #{} ", sanitize(&settings.room)),
        bar.add_modifier(Modifier::BOLD),
    )];
    let modes = describe_modes(settings.modes, settings.member_limit);
    if !modes.is_empty() {
        spans.push(Span::styled(format!("[{modes}] "), bar.fg(Color::Yellow)));
    }
    if settings.role != Role::User {
        spans.push(Span::styled(
            format!("[{}] ", role(settings.role)),
            bar.fg(Color::LightGreen),
        ));
    }
    let topic = if settings.topic.is_empty() {
        Span::styled("│ no topic", bar.fg(Color::Gray))
    } else {
        Span::styled(format!("│ {}", sanitize(&settings.topic)), bar)
    };
    spans.push(topic);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}
