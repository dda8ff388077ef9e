//! The server argument: one `host:port`, or several separated by commas,
//! the nodes of one cluster (`[CLUSTER-4]`). Each entry is checked before
//! anything connects, so a typo is named at start and not found later
//! when the client fails over to it.

use confab_protocol::DEFAULT_PORT;

/// Why an entry of the server list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the server list has an empty entry (in {0:?})")]
    Empty(String),
    #[error("{0:?}: no host before the port")]
    NoHost(String),
    #[error("{0:?}: the port must be a number from 1 to 65535")]
    BadPort(String),
    #[error("{0:?}: an IPv6 address goes in brackets, e.g. [::1]:{DEFAULT_PORT}")]
    Unbracketed(String),
    #[error("{entry:?}: not usable with TLS: {why}")]
    TlsName { entry: String, why: String },
}

/// The addresses of `arg`, in order, each as `host:port` (the default port
/// added where none is given). With `tls`, each host must also be a name
/// a certificate can be checked against.
pub fn parse_list(arg: &str, tls: bool) -> Result<Vec<String>, AddressError> {
    arg.split(',')
        .map(|entry| {
            let addr = parse_one(entry.trim()).map_err(|e| match e {
                AddressError::Empty(_) => AddressError::Empty(arg.to_string()),
                other => other,
            })?;
            if tls {
                crate::tls::server_name(&addr).map_err(|e| AddressError::TlsName {
                    entry: entry.trim().to_string(),
                    why: e.to_string(),
                })?;
            }
            Ok(addr)
        })
        .collect()
}

/// One entry: `host`, `host:port`, `[v6]` or `[v6]:port`.
fn parse_one(entry: &str) -> Result<String, AddressError> {
    if entry.is_empty() {
        return Err(AddressError::Empty(String::new()));
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(AddressError::Unbracketed(entry.into()));
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(AddressError::BadPort(entry.into())),
            },
        }
    } else {
        match entry.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err(AddressError::Unbracketed(entry.into()))
            }
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() {
        return Err(AddressError::NoHost(entry.into()));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| AddressError::BadPort(entry.into()))?,
    };
    Ok(if entry.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_taken_as_before() {
        assert_eq!(
            parse_list("127.0.0.1:7001", false),
            Ok(vec!["127.0.0.1:7001".to_string()])
        );
        assert_eq!(
            parse_list("chat.example.org", true),
            Ok(vec![format!("chat.example.org:{DEFAULT_PORT}")])
        );
    }

    #[test]
    fn a_list_keeps_its_order_and_adds_default_ports() {
        let list = parse_list("a.example:7001, b.example,[::1]:7003,[::1]", false).unwrap();
        assert_eq!(
            list,
            vec![
                "a.example:7001".to_string(),
                format!("b.example:{DEFAULT_PORT}"),
                "[::1]:7003".to_string(),
                format!("[::1]:{DEFAULT_PORT}"),
            ]
        );
    }

    #[test]
    fn an_invalid_entry_is_named() {
        let cases = [
            ("a:7001,b:70000", "b:70000"),
            ("a:7001,:7002", ":7002"),
            ("a:7001,b:x", "b:x"),
            ("a:7001,::1", "::1"),
            ("a:7001,[::1", "[::1"),
            ("a:7001,b:0", "b:0"),
        ];
        for (arg, entry) in cases {
            let error = parse_list(arg, false).unwrap_err().to_string();
            assert!(error.contains(&format!("{entry:?}")), "{arg}: {error}");
        }
        let error = parse_list("a:7001,,b:7002", false).unwrap_err();
        assert!(matches!(error, AddressError::Empty(_)), "{error}");
        let error = parse_list("a:7001,bad name:7002", true).unwrap_err();
        assert!(error.to_string().contains("\"bad name:7002\""), "{error}");
    }
}
