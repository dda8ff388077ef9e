//! Drawing the UI: messages (wrapped, scrollable), a status bar and the input
//! line, each in its own area, so incoming text never touches the input.

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_segmentation::UnicodeSegmentation;

use super::app::{App, Connection, Entry, SystemKind};
use super::buffers::Kind;
use super::input::cluster_width;

const NAME_COLOURS: [Color; 8] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::LightBlue,
    Color::LightRed,
    Color::LightGreen,
    Color::LightCyan,
];

/// The same name always gets the same colour (FNV-1a of its bytes).
pub fn name_colour(name: &str) -> Color {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    NAME_COLOURS[hash as usize % NAME_COLOURS.len()]
}

/// Columns of the room list, drawn when the terminal has `ROOMS_FROM`.
const ROOMS_WIDTH: u16 = 16;
/// The read marker's line.
pub const READ_MARKER: &str = "──── new since you last looked ────";
const ROOMS_FROM: u16 = 60;
/// Columns of the member list, drawn from `MEMBERS_FROM` columns.
const MEMBERS_WIDTH: u16 = 16;
const MEMBERS_FROM: u16 = 90;

pub fn render(frame: &mut Frame, app: &App) {
    let [main, status, input] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let wide = main.width >= ROOMS_FROM;
    let members = app.show_members && app.room().is_some() && main.width >= MEMBERS_FROM;
    let [rooms, messages, member_list] = Layout::horizontal([
        Constraint::Length(if wide { ROOMS_WIDTH } else { 0 }),
        Constraint::Min(1),
        Constraint::Length(if members { MEMBERS_WIDTH } else { 0 }),
    ])
    .areas(main);
    if wide {
        super::panes::render_rooms(frame, rooms, app);
    }
    if members {
        super::panes::render_members(frame, member_list, app);
    }
    // A room's topic and modes head its messages, once the server said them.
    let settings = app.buffers.focused().settings.as_ref();
    let [header, messages] = Layout::vertical([
        Constraint::Length(u16::from(settings.is_some())),
        Constraint::Min(1),
    ])
    .areas(messages);
    if let Some(settings) = settings {
        super::panes::render_header(frame, header, settings);
    }
    let below = render_messages(frame, messages, app);
    // New entries still out of view below.
    let new_below = app.scroll().new_below().min(below);
    render_status(frame, status, app, new_below, !wide);
    render_input(frame, input, app);
}

/// The lines of an entry at `width` columns. A message's later lines (it
/// holds line breaks) are indented under its header line.
pub fn entry_lines(entry: &Entry, width: usize) -> Vec<Line<'static>> {
    let (time, sender, body, own, highlight, action) = match entry {
        Entry::Chat {
            time,
            sender,
            body,
            own,
            highlight,
            action,
        } => (time, sender, body, *own, *highlight, *action),
        Entry::System { text, kind } => {
            let (text, style) = match kind {
                SystemKind::Info => (format!("*** {text}"), Style::new().fg(Color::DarkGray)),
                SystemKind::Presence => (
                    format!("*** {text}"),
                    Style::new()
                        .fg(Color::DarkGray)
                        .add_modifier(Modifier::ITALIC),
                ),
                SystemKind::Error => (format!("*** {text}"), Style::new().fg(Color::Red)),
                SystemKind::Day => (format!("── {text} ──"), Style::new().fg(Color::Blue)),
            };
            return wrap(&[(text, style)], width);
        }
    };
    let mut name = Style::new()
        .fg(name_colour(sender))
        .add_modifier(Modifier::BOLD);
    if own {
        name = name.add_modifier(Modifier::UNDERLINED);
    }
    let mut text = Style::new();
    if highlight {
        // A mention stands out: the name reversed, the text in yellow.
        name = name.add_modifier(Modifier::REVERSED);
        text = text.fg(Color::LightYellow);
    }
    let mut parts = body.split('\n');
    let mut header = vec![(format!("{time} "), Style::new().fg(Color::DarkGray))];
    if action {
        // `/me waves` from alice: `* alice waves`, in italics.
        text = text.add_modifier(Modifier::ITALIC);
        header.push(("* ".to_string(), text));
        header.push((format!("{sender} "), name));
    } else {
        header.push((format!("{sender}: "), name));
    }
    header.extend(links(parts.next().unwrap_or_default(), text));
    let mut lines = wrap(&header, width);
    let indent = " ".repeat(time.chars().count() + 1);
    for part in parts {
        let mut spans = vec![(indent.clone(), Style::new())];
        spans.extend(links(part, text));
        lines.extend(wrap(&spans, width));
    }
    lines
}

/// Text with its URLs underlined.
fn links(text: &str, style: Style) -> Vec<(String, Style)> {
    let mut spans: Vec<(String, Style)> = Vec::new();
    for word in text.split_inclusive(' ') {
        let url = word.starts_with("https://") || word.starts_with("http://");
        let word_style = if url {
            style.add_modifier(Modifier::UNDERLINED)
        } else {
            style
        };
        match spans.last_mut() {
            Some((run, s)) if *s == word_style => run.push_str(word),
            _ => spans.push((word.to_string(), word_style)),
        }
    }
    spans
}

/// Wraps styled text to `width` columns at spaces, breaking words only
/// when one is longer than a whole line. Whole grapheme clusters only, each
/// measured as one, so an emoji sequence is never cut in two.
pub fn wrap(spans: &[(String, Style)], width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let cells: Vec<(&str, Style)> = spans
        .iter()
        .flat_map(|(text, style)| text.graphemes(true).map(move |g| (g, *style)))
        .collect();
    let mut rows: Vec<&[(&str, Style)]> = Vec::new();
    let mut start = 0;
    while start < cells.len() {
        let mut used = 0;
        let mut end = start;
        let mut last_space = None;
        while end < cells.len() {
            let w = cluster_width(cells[end].0);
            if used + w > width {
                break;
            }
            if cells[end].0 == " " {
                last_space = Some(end);
            }
            used += w;
            end += 1;
        }
        if end < cells.len() {
            if let Some(space) = last_space.filter(|&s| s > start) {
                rows.push(&cells[start..space]);
                start = space + 1;
                continue;
            }
        }
        rows.push(&cells[start..end.max(start + 1)]);
        start = end.max(start + 1);
    }
    if rows.is_empty() {
        return vec![Line::default()];
    }
    rows.into_iter().map(styled_line).collect()
}

/// Groups a row of styled clusters into spans of equal style.
fn styled_line(row: &[(&str, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = row.first().map_or(Style::new(), |(_, s)| *s);
    for (g, style) in row {
        if *style != run_style {
            spans.push(Span::styled(std::mem::take(&mut run), run_style));
            run_style = *style;
        }
        run.push_str(g);
    }
    spans.push(Span::styled(run, run_style));
    Line::from(spans)
}

/// Draws the messages; returns how many entries are wholly below the view.
fn render_messages(frame: &mut Frame, area: Rect, app: &App) -> usize {
    let height = area.height as usize;
    let width = area.width as usize;
    let buffer = app.buffers.focused();
    let offset = buffer.scroll.offset();
    let marker = buffer.marker_index();
    // Wrap only as many entries, newest first, as the view can reach.
    let mut visual: Vec<Line<'static>> = Vec::new();
    // Lines of each entry wrapped, newest first.
    let mut sizes = Vec::new();
    let mut reached_top = true;
    for (index, entry) in buffer.entries.iter().enumerate().rev() {
        let mut lines = entry_lines(entry, width);
        if marker == Some(index) {
            // What arrived since the user last looked starts below this line.
            let rule = Style::new().fg(Color::LightRed);
            let mut marked = wrap(&[(READ_MARKER.to_string(), rule)], width);
            marked.append(&mut lines);
            lines = marked;
        }
        sizes.push(lines.len());
        lines.append(&mut visual);
        visual = lines;
        if visual.len() >= height + offset && index > 0 {
            // More entries above; the oldest line was not reached.
            reached_top = false;
            break;
        }
    }
    let max_offset = visual.len().saturating_sub(height);
    buffer
        .scroll
        .drawn(width, reached_top.then_some(max_offset));
    let scroll = offset.min(max_offset);
    let below = sizes
        .iter()
        .scan(0, |sum, size| {
            *sum += size;
            Some(*sum)
        })
        .take_while(|&sum| sum <= scroll)
        .count();
    let end = visual.len() - scroll;
    let start = end.saturating_sub(height);
    let mut shown: Vec<Line<'static>> = visual.drain(start..end).collect();
    // Keep the newest line just above the status bar.
    let padding = height.saturating_sub(shown.len());
    let mut lines = vec![Line::default(); padding];
    lines.append(&mut shown);
    frame.render_widget(Paragraph::new(lines), area);
    below
}

/// `activity`: the room list is not drawn, so the status bar lists the
/// buffers with unread messages (a `!` after one with a mention).
fn render_status(frame: &mut Frame, area: Rect, app: &App, new_below: usize, activity: bool) {
    let (dot, state, colour) = match app.connection {
        Connection::Connecting => ("○", "connecting", Color::Yellow),
        Connection::Connected => ("●", "connected", Color::Green),
        Connection::Reconnecting => ("◌", "reconnecting", Color::Yellow),
        Connection::Closed => ("×", "closed", Color::Red),
    };
    let bar = Style::new().bg(Color::DarkGray).fg(Color::White);
    // Most useful first: a narrow terminal cuts the end.
    let mut spans = vec![
        Span::styled(format!(" {dot} "), bar.fg(colour)),
        Span::styled(format!("{state} "), bar),
    ];
    if app.scroll().offset() > 0 {
        let new = if new_below > 0 {
            format!("· {new_below} new below ")
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("│ ↑{} {new}", app.scroll().offset()),
            bar.fg(Color::Yellow),
        ));
    }
    if app.queued > 0 {
        // Lines still to go out (paced under the rate limit, or waiting
        // for a reconnect): none is lost, and the user can see them wait.
        spans.push(Span::styled(
            format!("│ {} queued ", app.queued),
            bar.fg(Color::Yellow),
        ));
    }
    spans.push(if app.encrypted {
        Span::styled("│ TLS ", bar.fg(Color::Green))
    } else {
        Span::styled("│ no TLS ", bar)
    });
    let focused = app.buffers.focused();
    match focused.kind {
        Kind::Room => spans.push(Span::styled(
            format!("│ #{} · {} here ", focused.name, focused.members.count()),
            bar,
        )),
        Kind::Direct => spans.push(Span::styled(format!("│ @{} ", focused.name), bar)),
        Kind::Status => {}
    }
    if activity {
        let active: Vec<String> = app
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.unread > 0)
            .map(|(i, b)| format!("{}{}", i + 1, if b.mention { "!" } else { "" }))
            .collect();
        if !active.is_empty() {
            spans.push(Span::styled(
                format!("│ act {} ", active.join(",")),
                bar.fg(Color::Yellow),
            ));
        }
    }
    if let Some(name) = app.view.name() {
        spans.push(Span::styled(format!("│ {name} "), bar));
    }
    spans.push(Span::styled(format!("│ {} │ /help ", app.server), bar));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

fn render_input(frame: &mut Frame, area: Rect, app: &App) {
    let prompt = if app.awaiting_password.is_some() {
        "password> "
    } else if app.view.awaiting_name {
        "name> "
    } else {
        "> "
    };
    let room_width = prompt.chars().count();
    let available = (area.width as usize).saturating_sub(room_width);
    let (mut shown, mut cursor) = app.input.visible(available);
    if app.awaiting_password.is_some() {
        // The password is never drawn, not even its length.
        shown = String::new();
        cursor = 0;
    }
    let line = Line::from(vec![
        Span::styled(
            prompt,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw(shown),
    ]);
    frame.render_widget(Paragraph::new(line), area);
    frame.set_cursor_position(Position::new(area.x + (room_width + cursor) as u16, area.y));
}
