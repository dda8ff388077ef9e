//! Field strategies: integers, flags, strings and lists at their boundaries.

use super::*;

// ---------------------------------------------------------------- integers

macro_rules! boundary_int {
    ($name:ident, $t:ty) => {
        /// 0, 1, MAX - 1, MAX, single bits, or anything.
        pub fn $name() -> BoxedStrategy<$t> {
            prop_oneof![
                2 => Just(0 as $t),
                2 => Just(<$t>::MAX),
                1 => Just(1 as $t),
                1 => Just(<$t>::MAX - 1),
                1 => (0..<$t>::BITS).prop_map(|bit| (1 as $t) << bit),
                4 => any::<$t>(),
            ]
            .boxed()
        }
    };
}

boundary_int!(u8s, u8);
boundary_int!(u16s, u16);
boundary_int!(u32s, u32);
boundary_int!(u64s, u64);

/// A `flags` byte: none, all, each single bit, or anything.
pub fn flags() -> BoxedStrategy<u8> {
    prop_oneof![
        2 => Just(0u8),
        2 => Just(0xFFu8),
        2 => (0..8u32).prop_map(|bit| 1u8 << bit),
        3 => any::<u8>(),
    ]
    .boxed()
}

/// An error code: a registry code, or any `u16` (unassigned ones included).
pub fn error_code() -> BoxedStrategy<ErrorCode> {
    prop_oneof![
        3 => prop::sample::select(ErrorCode::ALL),
        1 => u16s().prop_map(ErrorCode),
    ]
    .boxed()
}

// ------------------------------------------------------------------ strings

/// Characters at the edges of the UTF-8 encoding widths, and some that the
/// name rules care about.
pub const EDGE_CHARS: &[char] = &[
    '\u{0}',
    '\u{7F}',
    '\u{80}',
    '\u{7FF}',
    '\u{800}',
    '\u{D7FF}',
    '\u{E000}',
    '\u{FFFD}',
    '\u{FFFF}',
    '\u{10000}',
    '\u{10FFFF}',
    'é',
    '€',
    '日',
    '😀',
    '\u{301}',
    '\u{202E}',
    '\u{200B}',
    ' ',
    '\t',
];

/// Any character, spread over the four UTF-8 encoding widths.
pub fn utf8_char() -> BoxedStrategy<char> {
    prop_oneof![
        4 => prop::char::range('!', '~'),
        1 => prop::char::range('\u{0}', '\u{7F}'),
        2 => prop::char::range('\u{80}', '\u{7FF}'),
        2 => prop::char::ranges(Cow::Owned(vec!['\u{800}'..='\u{D7FF}', '\u{E000}'..='\u{FFFF}'])),
        2 => prop::char::range('\u{10000}', '\u{10FFFF}'),
        1 => prop::sample::select(EDGE_CHARS),
    ]
    .boxed()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary (written here, independently of `Text::truncated`).
pub fn cut_to(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Text of at most `max` bytes. `full` weighs the strings that fill the
/// field to (or within 3 bytes of) its limit.
pub fn text(max: usize, full: u32) -> BoxedStrategy<String> {
    let medium_chars = max.min(80);
    prop_oneof![
        2 => Just(String::new()),
        8 => vec(utf8_char(), 1..12)
            .prop_map(move |chars| cut_to(chars.into_iter().collect(), max)),
        2 => vec(utf8_char(), 0..=medium_chars)
            .prop_map(move |chars| cut_to(chars.into_iter().collect(), max)),
        // A few leading characters, then one character repeated past the
        // limit (up to max + 4500 bytes, ~70 kB for str16), cut on a
        // character boundary: reaches exactly `max` for 1-byte characters
        // and for widths that divide what is left, else max - 1..=max - 3.
        full => (vec(utf8_char(), 0..4), utf8_char(), 0..4500usize).prop_map(move |(lead, fill, extra)| {
            let mut s: String = lead.into_iter().collect();
            let missing = (max + 1 + extra.min(max)).saturating_sub(s.len());
            s.push_str(&fill.to_string().repeat(missing / fill.len_utf8() + 1));
            cut_to(s, max)
        }),
        full => prop::sample::select((1..=4usize).filter(|w| *w <= max).collect::<Vec<_>>()).prop_map(move |width| {
            // Exactly `max` bytes ending in a character of the given width.
            let last = ['a', 'é', '€', '😀'][width - 1];
            let mut s = "a".repeat(max - width);
            s.push(last);
            s
        }),
    ]
    .boxed()
}

/// A `str8` over its whole range.
pub fn str8() -> BoxedStrategy<Str8> {
    text(STR8_MAX, 3)
        .prop_map(|s| Str8::new(&s).expect("strategy keeps str8 within 255 bytes"))
        .boxed()
}

/// A `str16` over its whole range; near-limit values are rare.
pub fn str16() -> BoxedStrategy<Str16> {
    text(STR16_MAX, 1)
        .prop_map(|s| Str16::new(&s).expect("strategy keeps str16 within 65,535 bytes"))
        .boxed()
}

/// A short `str8` (0 to 3 bytes), for lists with the maximum entry count.
pub fn tiny_str8() -> BoxedStrategy<Str8> {
    text(3, 1)
        .prop_map(|s| Str8::new(&s).expect("tiny"))
        .boxed()
}

// -------------------------------------------------------------------- lists

/// Empty, a few entries, or (rarely) the `u16` maximum of tiny entries.
pub fn list<T>(entry: BoxedStrategy<T>, tiny: BoxedStrategy<T>) -> BoxedStrategy<List<T>>
where
    T: Clone + std::fmt::Debug + 'static,
{
    prop_oneof![
        3 => Just(Vec::new()),
        8 => vec(entry, 1..8),
        1 => tiny.prop_map(|item| vec![item; LIST_MAX]),
    ]
    .prop_map(|items| List::new(items).expect("at most 65,535 entries"))
    .boxed()
}
