use super::*;

fn typed(text: &str) -> InputLine {
    let mut line = InputLine::default();
    line.insert_str(text);
    line
}

#[test]
fn editing_works_on_characters_not_bytes() {
    let mut line = typed("héllo 日本");
    line.left();
    line.left();
    line.backspace();
    assert_eq!(line.text(), "héllo日本");
    line.home();
    line.delete();
    assert_eq!(line.text(), "éllo日本");
    line.end();
    line.insert('!');
    assert_eq!(line.text(), "éllo日本!");
    line.kill_word_before();
    assert_eq!(line.text(), "");
}

#[test]
fn the_cursor_moves_over_a_whole_emoji_family() {
    let mut line = typed("👨‍👩‍👧x");
    line.left();
    line.left();
    line.insert('Q');
    assert_eq!(line.text(), "Q👨‍👩‍👧x");
    line.right();
    line.backspace();
    assert_eq!(line.text(), "Qx");
}

#[test]
fn a_combining_accent_goes_with_its_letter() {
    let mut line = typed("e\u{301}z");
    line.left();
    line.left();
    assert_eq!(line.visible(10).1, 0, "the cursor is before é");
    line.end();
    line.left();
    line.backspace();
    assert_eq!(line.text(), "z", "no lone accent is left");
    // An accent typed after a letter joins it; the cursor stays after both.
    let mut accented = typed("ez");
    accented.left();
    accented.insert('\u{301}');
    accented.insert('!');
    assert_eq!(accented.text(), "e\u{301}!z");
    accented.home();
    accented.delete();
    assert_eq!(accented.text(), "!z");
}

#[test]
fn skin_tones_and_families_are_measured_per_cluster() {
    assert_eq!(cluster_width("👍🏽"), 2);
    assert_eq!(cluster_width("👨‍👩‍👧"), 2);
    let line = typed("👍🏽👨‍👩‍👧");
    assert_eq!(line.visible(10), ("👍🏽👨‍👩‍👧".to_string(), 4));
    // Scrolling never cuts a cluster in two.
    assert_eq!(line.visible(3), ("👨‍👩‍👧".to_string(), 2));
}

#[test]
fn words_move_and_kill_as_in_readline() {
    let mut line = typed("hello, big world");
    line.word_left();
    line.insert('_');
    assert_eq!(line.text(), "hello, big _world");
    line.home();
    line.word_right();
    line.insert('!');
    assert_eq!(line.text(), "hello!, big _world");
    line.kill_word_after();
    assert_eq!(line.text(), "hello! _world");
    line.kill_to_end();
    assert_eq!(line.text(), "hello!");
    line.home();
    line.yank();
    assert_eq!(line.text(), " _worldhello!");
    line.kill_to_start();
    assert_eq!(line.text(), "hello!");
}

#[test]
fn a_long_line_scrolls_to_keep_the_cursor_visible() {
    let mut line = typed("abcdefghij");
    let (shown, cursor) = line.visible(5);
    assert_eq!((shown.as_str(), cursor), ("ghij", 4));
    line.home();
    assert_eq!(line.visible(5), ("abcde".to_string(), 0));
    let wide = typed("日本語");
    assert_eq!(wide.visible(4), ("語".to_string(), 2));
}

#[test]
fn control_characters_never_enter_the_line() {
    assert_eq!(typed("a\r\nb\tc\u{1b}").text(), "a b c");
}
