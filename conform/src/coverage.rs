//! Which clauses of spec/PROTOCOL.md the cases cite, and the check that each
//! clause is either cited or listed in spec/uncovered-by-conform.md.

use std::collections::BTreeSet;

/// Clause ids defined by `spec`: a list item that starts with `` `[ID-N]` ``.
pub fn defined_clauses(spec: &str) -> BTreeSet<String> {
    spec.lines()
        .filter_map(|line| {
            let item = line.trim_start();
            let item = item
                .strip_prefix("- ")
                .or_else(|| item.split_once(". ").map(|(_, rest)| rest))?;
            let (id, _) = item.strip_prefix("`[")?.split_once("]`")?;
            is_clause_id(id).then(|| id.to_string())
        })
        .collect()
}

pub fn is_clause_id(id: &str) -> bool {
    let Some((prefix, number)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

/// Clause ids listed in the uncovered file (`- ID: reason` lines).
pub fn listed_uncovered(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("- ")?.split_once(':'))
        .map(|(id, _)| id.trim().to_string())
        .filter(|id| is_clause_id(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn read(relative: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_clause_is_a_case_or_listed_here() {
        let defined = defined_clauses(&read("spec/PROTOCOL.md"));
        assert!(defined.len() > 50, "found only {} clauses", defined.len());
        let uncovered = listed_uncovered(&read("spec/uncovered-by-conform.md"));
        let cases = crate::case::all();
        let cited: BTreeSet<String> = cases
            .iter()
            .flat_map(|c| c.clauses.iter().map(|id| id.to_string()))
            .collect();

        let unknown: Vec<_> = cited.difference(&defined).collect();
        assert!(
            unknown.is_empty(),
            "cases cite clauses PROTOCOL.md does not define: {unknown:?}"
        );
        let stale: Vec<_> = uncovered.difference(&defined).collect();
        assert!(
            stale.is_empty(),
            "uncovered-by-conform.md lists unknown clauses: {stale:?}"
        );
        let both: Vec<_> = uncovered.intersection(&cited).collect();
        assert!(
            both.is_empty(),
            "covered by a case now; remove from uncovered-by-conform.md: {both:?}"
        );
        let missing: Vec<_> = defined
            .iter()
            .filter(|id| !cited.contains(*id) && !uncovered.contains(*id))
            .collect();
        assert!(
            missing.is_empty(),
            "clauses neither checked by a case nor listed as not observable: {missing:?}"
        );
    }

    #[test]
    fn case_ids_are_unique_and_name_their_section() {
        let cases = crate::case::all();
        let mut ids = BTreeSet::new();
        for case in &cases {
            assert!(ids.insert(case.id), "case id {} is used twice", case.id);
            assert!(case.id.contains('.'), "case id {} has no section", case.id);
            assert!(!case.clauses.is_empty(), "case {} cites no clause", case.id);
        }
    }

    #[test]
    fn the_scanner_reads_definitions_not_mentions() {
        let spec = "- `[FRAMING-1]` rule\n3. `[HANDSHAKE-3]` rule\nsee `[FRAMING-2]` inline\n";
        let ids: Vec<_> = defined_clauses(spec).into_iter().collect();
        assert_eq!(ids, ["FRAMING-1", "HANDSHAKE-3"]);
        let listed = listed_uncovered("# title\n- CLOSE-2: needs a shutdown\n- not an id: x\n");
        assert_eq!(listed.into_iter().collect::<Vec<_>>(), ["CLOSE-2"]);
    }
}
