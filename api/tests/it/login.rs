//! Signing in with a browser: a session cookie stands for the key on reads only, carries the purpose into
//! the access log, ends at sign-out or when the key is revoked, and cannot be used to write or to redirect
//! anyone off the site.

use axum::body::Body;
use axum::http::{Method, Request, header};
use journey_api::Role;
use serde_json::Value;

use crate::common::{CHILD, Harness, contact_body, request};

fn form(body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Signs in; returns the `name=value` of the session cookie and where the browser was sent.
async fn sign_in(h: &Harness, role: Role, purpose: &str, next: &str) -> (String, String) {
    let body = format!(
        "key={}&purpose={}&next={}",
        encode(h.token(role)),
        encode(purpose),
        encode(next)
    );
    let reply = h.send(form(&body)).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=1800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
    (cookie.split(';').next().unwrap().to_owned(), location)
}

fn with_cookie(method: Method, uri: &str, cookie: &str, body: Option<Value>) -> Request<Body> {
    let mut req = request(method, uri, None, &[], body);
    req.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    req
}

#[tokio::test]
async fn a_session_reads_with_its_purpose_and_never_writes() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin).to_owned();
    let integrator = h.token(Role::Integrator).to_owned();
    let appended = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(&integrator),
            Some(contact_body("e-login-1")),
        )
        .await;
    assert_eq!(appended.status, 201, "{}", appended.text);

    let next = format!("/v1/children/{CHILD}/events");
    let (cookie, location) = sign_in(&h, Role::Investigator, "case review CR-7", &next).await;
    assert_eq!(location, next);

    let read = h.send(with_cookie(Method::GET, &next, &cookie, None)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let log = h.call(Method::GET, "/v1/access-log", Some(&admin), None).await;
    let last = log.body["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["purpose"], "case review CR-7", "{last}");
    assert_eq!(last["view"], "events");

    // A cookie never authorises a write, whatever the role.
    let write = h
        .send(with_cookie(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            &cookie,
            Some(contact_body("e-login-2")),
        ))
        .await;
    write.problem(401);

    // Signing out ends the session on the server, not only in the browser.
    let out = h.send(with_cookie(Method::POST, "/logout", &cookie, None)).await;
    assert_eq!(out.status, 303);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = h.send(with_cookie(Method::GET, &next, &cookie, None)).await;
    assert!(
        after.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
}

#[tokio::test]
async fn revoking_the_key_ends_its_sessions() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin).to_owned();
    let (cookie, _) = sign_in(&h, Role::Admin, "audit", "/v1/children/x/timeline").await;
    assert_eq!(
        h.send(with_cookie(Method::GET, "/v1/keys", &cookie, None))
            .await
            .status,
        200
    );
    let keys = h.call(Method::GET, "/v1/keys", Some(&admin), None).await;
    let own = keys.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "the-admin")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = h
        .call(
            Method::POST,
            &format!("/v1/keys/{own}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let refused = h.send(with_cookie(Method::GET, "/v1/keys", &cookie, None)).await;
    assert!(
        refused.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
}

#[tokio::test]
async fn the_form_refuses_bad_keys_other_roles_missing_purposes_and_foreign_redirects() {
    let h = Harness::new().await;
    let page = h
        .call(
            Method::GET,
            "/login?next=%2Fv1%2Fchildren%2Fc-1%2Ftimeline",
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("name=\"next\" value=\"/v1/children/c-1/timeline\""),
        "{}",
        page.text
    );

    let wrong = h.send(form("key=jny_0123456789abcdef_nonsense&purpose=x")).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("That key cannot sign in"));
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));

    let author = format!("key={}&purpose=x", encode(h.token(Role::PolicyAuthor)));
    let refused = h.send(form(&author)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("may not read children"));

    let no_purpose = format!("key={}&purpose=%20", encode(h.token(Role::Investigator)));
    assert_eq!(h.send(form(&no_purpose)).await.status, 422);

    // Not the sign-in form (an unknown field, a missing key): the form again, as documented, never a cookie.
    for not_the_form in ["key=&purpose=x&colour=red", "purpose=x"] {
        let reply = h.send(form(not_the_form)).await;
        assert_eq!(reply.status, 422, "{not_the_form}");
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{not_the_form}"
        );
        assert!(reply.text.contains("not the sign-in form"), "{}", reply.text);
        assert!(!reply.headers.contains_key(header::SET_COOKIE));
    }

    for foreign in [
        "https://evil.example/",
        "//evil.example/x",
        "/v1/children/../../evil",
        "/login",
    ] {
        let (_, location) = sign_in(&h, Role::Investigator, "x", foreign).await;
        {
            assert_eq!(location, "/login", "{foreign}");
        }
    }
}

#[tokio::test]
async fn a_browser_without_a_session_is_sent_to_the_form_and_a_program_gets_a_problem() {
    let h = Harness::new().await;
    let uri = "/v1/children/c-1/timeline?on=2024-01-01";
    let browser = h
        .send(request(
            Method::GET,
            uri,
            None,
            &[("accept", "text/html,application/xhtml+xml")],
            None,
        ))
        .await;
    assert_eq!(browser.status, 303);
    assert_eq!(
        browser.headers[header::LOCATION],
        "/login?next=%2Fv1%2Fchildren%2Fc-1%2Ftimeline%3Fon%3D2024-01-01"
    );
    let program = h.send(request(Method::GET, uri, None, &[], None)).await;
    program.problem(401);
}
