use super::*;

#[test]
fn connections_fit_the_descriptor_limit_with_a_reserve() {
    assert_eq!(connections_for(1_024, 10_000), 896);
    assert_eq!(connections_for(1_048_576, 10_000), 10_000);
    assert_eq!(connections_for(64, 10_000), 1, "never none");
}

#[tokio::test]
async fn a_taken_address_is_named_with_the_os_error_and_a_hint() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let error = bind(addr).await.expect_err("the address is taken");
    let StartError::Listen {
        addr: named,
        source,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*named, source.kind()), (addr, io::ErrorKind::AddrInUse));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot listen on {addr}: {source}{}",
            listen_hint(source.kind())
        )
    );
    assert!(error.to_string().contains("choose another with --listen"));
}

#[tokio::test]
async fn an_address_not_on_this_host_is_refused_by_name() {
    // TEST-NET-1 (RFC 5737): never an address of this host.
    let addr: SocketAddr = "192.0.2.1:7667".parse().unwrap();
    let error = bind(addr).await.expect_err("not an address of this host");
    assert!(matches!(&error, StartError::Listen { addr: named, .. } if *named == addr));
    assert!(
        error
            .to_string()
            .starts_with("cannot listen on 192.0.2.1:7667: ")
            && error.to_string().contains("os error"),
        "{error}"
    );
}

#[tokio::test]
async fn half_a_tls_configuration_is_refused() {
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = Config {
        tls_cert: Some("cert.pem".into()),
        ..Config::default()
    };
    let error = run(listener, config, CancellationToken::new())
        .await
        .expect_err("a certificate without a key");
    assert!(matches!(error, StartError::TlsHalfConfigured), "{error:?}");
}
