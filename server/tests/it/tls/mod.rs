//! TLS end to end: a certificate from `confab_server::generate_self_signed`,
//! the server with `tls_cert`/`tls_key`, and rustls clients speaking the same
//! Confab frames inside the TLS stream.

pub(crate) mod client;

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use client::*;
use common::{
    assert_fatal_end, chat_round, fast_config, Client, Ending, TempDir, TestServer, PATIENCE,
};
use confab_protocol::frame::{Frame, Goodbye, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;
use futures_util::StreamExt;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

mod regressions;

/// A TLS server with `tweak` applied; the certificate directory lives as
/// long as the returned guard.
async fn tls_server(
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, TempDir, tokio_rustls::TlsConnector) {
    let dir = TempDir::new("tls");
    let (cert, key) = self_signed(dir.path());
    let mut config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        ..fast_config()
    };
    tweak(&mut config);
    let server = TestServer::start(config).await;
    let connector = tls_connector(&cert);
    (server, dir, connector)
}

/// Reads one whole frame's bytes (header and body) as they are.
async fn raw_frame<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> Vec<u8> {
    let mut header = [0u8; 5];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut header))
        .await
        .expect("a frame header in time")
        .expect("a frame header");
    let len = u32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
    let mut frame = header.to_vec();
    frame.resize(5 + len, 0);
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut frame[5..]))
        .await
        .expect("a frame body in time")
        .expect("a frame body");
    frame
}

/// Everything a raw TCP peer receives until the server closes (or `bound`
/// passes): the bytes, whether it closed, and when.
async fn raw_until_closed(stream: &mut TcpStream, bound: Duration) -> (Vec<u8>, bool, Duration) {
    let started = Instant::now();
    let deadline = started + bound;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => return (received, false, started.elapsed()),
        }
    }
}

/// Two TLS clients logged in to the lobby, having exchanged a message each way.
async fn tls_pair(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    tag: &str,
) -> (TlsClient, TlsClient) {
    let mut a = tls_login(addr, connector, &format!("{tag}a"), 0).await;
    let mut b = tls_login(addr, connector, &format!("{tag}b"), 0).await;
    chat_round(&mut a, &mut b, "lobby", 2).await;
    (a, b)
}

#[tokio::test]
async fn tls_clients_chat_with_the_very_same_confab_bytes_inside() {
    // spec: TRANSPORT-2
    let (server, dir, connector) = tls_server(|_| {}).await;
    // A plain server with the same settings, for the GREETING's bytes.
    let plain = TestServer::start(fast_config()).await;
    let mut plain_stream = TcpStream::connect(plain.addr).await.unwrap();
    let plain_greeting = raw_frame(&mut plain_stream).await;
    drop(plain_stream);

    let mut clients = Vec::new();
    for name in ["alice", "bob"] {
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let mut tls = connector
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .expect("the TLS handshake succeeds with the trusted certificate");
        let version = tls.get_ref().1.protocol_version();
        assert!(
            matches!(
                version,
                Some(rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3)
            ),
            "TLS 1.2 or later, got {version:?}"
        );
        // The first bytes inside TLS are exactly the GREETING a plain
        // connection gets.
        let greeting = raw_frame(&mut tls).await;
        assert_eq!(
            hex::encode(&greeting),
            hex::encode(&plain_greeting),
            "the GREETING inside TLS is byte for byte the plain one"
        );
        let mut conn = Client::new(tls, name);
        conn.hello().await;
        conn.send(Frame::Login(confab_protocol::frame::Login::guest(
            confab_protocol::Str8::new(name).unwrap(),
        )))
        .await;
        match conn.recv_skipping_presence().await {
            Frame::Welcome(w) => assert_eq!(w.username, name),
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        conn.expect_joined("lobby").await;
        clients.push(conn);
    }
    let mut bob = clients.pop().unwrap();
    let mut alice = clients.pop().unwrap();
    let latencies = chat_round(&mut alice, &mut bob, "lobby", 20).await;
    let mut sorted = latencies.clone();
    sorted.sort();
    eprintln!("TLS chat: 20 messages, latencies {sorted:?}");

    // GOODBYE inside TLS: the server closes the connection cleanly.
    alice
        .send(Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, "bye")))
        .await;
    let (frames, ending) = alice.read_to_end_within(PATIENCE).await;
    assert_eq!(ending, Ending::Eof, "after {frames:?}");
    drop((alice, bob));
    server.finish().await;
    plain.finish().await;
    drop(dir);
}

#[tokio::test]
async fn a_plain_tcp_client_against_the_tls_server_fails_cleanly_and_hurts_nobody() {
    // spec: TRANSPORT-2
    let (server, _dir, connector) = tls_server(|_| {}).await;
    let (mut a, mut b) = tls_pair(server.addr, &connector, "tlsw").await;

    let hello_and_login = [
        Frame::Hello(Hello {
            version: 1,
            flags: 0,
            client: confab_protocol::Str8::new("plain").unwrap(),
        })
        .to_bytes()
        .to_vec(),
        Frame::Login(confab_protocol::frame::Login::guest(
            confab_protocol::Str8::new("plain").unwrap(),
        ))
        .to_bytes()
        .to_vec(),
    ]
    .concat();
    let attempts: [(&str, &[u8]); 3] = [
        ("a Confab client without TLS", &hello_and_login),
        (
            "an HTTP client",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        ),
        (
            "random bytes",
            &[0x16, 0x03, 0x01, 0xFF, 0xFF, 0x00, 0x01, 0x02],
        ),
    ];
    for (who, bytes) in attempts {
        let mut plain = TcpStream::connect(server.addr).await.unwrap();
        plain.write_all(bytes).await.unwrap();
        // The server's handshake timeout is 10 s: a prompt close is the TLS
        // layer refusing the bytes, not a timeout.
        let (received, closed, after) = raw_until_closed(&mut plain, Duration::from_secs(5)).await;
        eprintln!(
            "{who}: closed {closed} after {after:?}, received {}",
            hex::encode(&received)
        );
        assert!(closed, "{who}: the server kept the connection open");
        assert!(
            after < Duration::from_secs(3),
            "{who}: closed only after {after:?}"
        );
        // Whatever came back is TLS (an alert record, content type 21), never
        // a Confab GREETING in the clear.
        assert!(
            received.is_empty() || received[0] == 0x15,
            "{who}: received {}",
            hex::encode(&received)
        );
    }

    // The TLS clients did not notice; a newcomer still gets in.
    chat_round(&mut a, &mut b, "lobby", 10).await;
    let mut c = tls_login(server.addr, &connector, "tlsnew", 0).await;
    chat_round(&mut c, &mut a, "lobby", 2).await;
    drop((a, b, c));
    server.finish().await;
}

#[tokio::test]
async fn a_client_that_never_completes_the_tls_handshake_is_dropped_in_time() {
    // spec: SEC-7
    const SLOTS: usize = 3;
    let (server, dir, connector) = tls_server(|c| {
        c.handshake_timeout_ms = 1_000;
        c.max_unauthenticated = SLOTS;
    })
    .await;
    let (mut a, mut b) = tls_pair(server.addr, &connector, "stallw").await;

    // Half a ClientHello: the TLS handshake starts and stalls.
    let mut client_hello = Vec::new();
    {
        let config = tls_client_config(&dir.path().join("cert.pem"));
        let mut tls =
            rustls::ClientConnection::new(config, ServerName::try_from("127.0.0.1").unwrap())
                .unwrap();
        tls.write_tls(&mut client_hello).unwrap();
        assert!(client_hello.len() > 20, "a ClientHello");
    }
    let mut stalled = Vec::new();
    for i in 0..SLOTS {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        if i == 0 {
            tcp.write_all(&client_hello[..client_hello.len() / 2])
                .await
                .unwrap();
        }
        stalled.push(tokio::spawn(async move {
            raw_until_closed(&mut tcp, Duration::from_secs(5)).await
        }));
    }
    for (i, stall) in stalled.into_iter().enumerate() {
        let (received, closed, after) =
            crate::common::within_for(crate::common::PATIENCE * 3, "the stall task", stall)
                .await
                .unwrap();
        let who = if i == 0 {
            "half a ClientHello"
        } else {
            "silence"
        };
        assert!(closed, "{who}: still open after {after:?}");
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_millis(3_000),
            "{who}: dropped after {after:?} with a 1 s handshake timeout"
        );
        assert!(
            received.is_empty() || received[0] == 0x15,
            "{who}: received {}",
            hex::encode(&received)
        );
    }
    // Their places are free again: a TLS client logs in (the server frees a
    // place once it has seen the end, which a client cannot observe: retry).
    let mut newcomer = None;
    for _ in 0..100 {
        let mut conn = tls_connect(server.addr, &connector).await.unwrap();
        match tokio::time::timeout(PATIENCE, conn.framed.next()).await {
            Ok(Some(Ok(Frame::Greeting(_)))) => {
                newcomer = Some(conn);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let mut newcomer = newcomer.expect("a TLS newcomer is admitted after the stalls");
    newcomer.name = "late".into();
    newcomer.hello().await;
    newcomer
        .send(Frame::Login(confab_protocol::frame::Login::guest(
            confab_protocol::Str8::new("late").unwrap(),
        )))
        .await;
    assert!(matches!(
        newcomer.recv_skipping_presence().await,
        Frame::Welcome(_)
    ));
    chat_round(&mut a, &mut b, "lobby", 4).await;
    drop((a, b, newcomer));
    server.finish().await;
}

/// The TLS error a client's handshake ended with.
fn tls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

#[tokio::test]
async fn a_client_refuses_a_server_whose_certificate_it_does_not_trust() {
    // spec: TRANSPORT-2
    let (server, _dir, connector) = tls_server(|_| {}).await;
    let (mut a, mut b) = tls_pair(server.addr, &connector, "trustw").await;

    // Another self-signed certificate: not the server's issuer.
    let other = TempDir::new("tls-other");
    let (other_cert, _) = self_signed(other.path());
    let untrusting = tls_connector(&other_cert);
    let error = match tls_connect(server.addr, &untrusting).await {
        Ok(_) => panic!("the handshake succeeded with an untrusted certificate"),
        Err(e) => e,
    };
    match tls_error(&error) {
        // Both self-signed certificates carry rcgen's default subject, so the
        // verifier finds a trust anchor by name and then rejects the signature.
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
        )) => {}
        other => panic!("expected a refusal of the issuer, got {other:?} ({error})"),
    }

    // The right certificate, the wrong name.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let error = match connector
        .connect(ServerName::try_from("chat.example.com").unwrap(), tcp)
        .await
    {
        Ok(_) => panic!("a certificate for localhost is accepted for chat.example.com"),
        Err(e) => e,
    };
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error}"
    );

    chat_round(&mut a, &mut b, "lobby", 4).await;
    drop((a, b));
    server.finish().await;
}
