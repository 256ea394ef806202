//! Signing in with a browser: a session cookie stands for the key on reads only, carries the purpose into
//! the access log, ends at sign-out or when the key is revoked, and cannot be used to write or to redirect
//! anyone off the site.

use axum::body::Body;
use axum::http::{Method, Request, header};
use journey_api::Role;
use serde_json::Value;

use crate::common::{CHILD, Harness, contact_body, request};

/// The host the tests' requests are addressed to, as a browser would send it.
const HOST: &str = "journey.test:8080";

/// A form post to `/login` with these headers (as `(name, value)`).
fn form_with(body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// What a browser holds after opening the sign-in page: the form token's cookie (`name=value`) and the
/// token in the form.
struct SignInPage {
    cookie: String,
    token: String,
}

async fn open_sign_in_page(h: &Harness) -> SignInPage {
    let page = h.call(Method::GET, "/login", None, None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["journey_login=", "HttpOnly", "SameSite=Strict", "Path=/login"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let token = page
        .text
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries its token")
        .to_owned();
    SignInPage {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        token,
    }
}

/// The form as the sign-in page's browser posts it: the page's cookie, its token, and the headers a browser
/// adds to a same-origin form post.
async fn form(h: &Harness, body: &str) -> Request<Body> {
    let page = open_sign_in_page(h).await;
    let body = format!("{body}&form_token={}", page.token);
    form_with(
        &body,
        &[
            ("cookie", &page.cookie),
            ("host", HOST),
            ("origin", &format!("http://{HOST}")),
            ("sec-fetch-site", "same-origin"),
        ],
    )
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
    let reply = h.send(form(h, &body).await).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=1800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
    (cookie.split(';').next().unwrap().to_owned(), location)
}

/// Whether a reply sets a session cookie (the form shown again sets only a fresh form token).
fn signs_in(reply: &crate::common::Reply) -> bool {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("journey_session="))
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

    let wrong = h
        .send(form(&h, "key=jny_0123456789abcdef_nonsense&purpose=x").await)
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("That key cannot sign in"));
    assert!(!signs_in(&wrong));

    let author = format!("key={}&purpose=x", encode(h.token(Role::PolicyAuthor)));
    let refused = h.send(form(&h, &author).await).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("may not read children"));

    let no_purpose = format!("key={}&purpose=%20", encode(h.token(Role::Investigator)));
    assert_eq!(h.send(form(&h, &no_purpose).await).await.status, 422);

    // Not the sign-in form (an unknown field, a missing key): the form again, as documented, never a cookie.
    for not_the_form in ["key=&purpose=x&colour=red", "purpose=x"] {
        let reply = h.send(form(&h, not_the_form).await).await;
        assert_eq!(reply.status, 422, "{not_the_form}");
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{not_the_form}"
        );
        assert!(reply.text.contains("not the sign-in form"), "{}", reply.text);
        assert!(!signs_in(&reply));
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

/// Login CSRF: another site's page posting the form with the attacker's own (valid) key must not sign the
/// visitor's browser in, or the visitor's reads would be logged under the attacker's key and purpose.
#[tokio::test]
async fn a_sign_in_not_sent_from_journeys_own_page_is_refused() {
    let h = Harness::new().await;
    let attackers_key = encode(h.token(Role::Investigator));
    let body = format!("key={attackers_key}&purpose=phishing");
    let origin = format!("http://{HOST}");
    // The attacker can open the sign-in page too, and put that page's token in their own form.
    let attackers_page = open_sign_in_page(&h).await;
    let victims_page = open_sign_in_page(&h).await;
    let with_token = |token: &str| format!("{body}&form_token={token}");
    // (what the case is, the form body, the request's headers)
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (
            "a cross-site form post",
            body.clone(),
            vec![
                ("host", HOST.into()),
                ("origin", "https://evil.example".into()),
                ("sec-fetch-site", "cross-site".into()),
            ],
        ),
        (
            "a cross-site post carrying the attacker's own token",
            with_token(&attackers_page.token),
            vec![
                ("host", HOST.into()),
                ("origin", "https://evil.example".into()),
                ("sec-fetch-site", "cross-site".into()),
                ("cookie", victims_page.cookie.clone()),
            ],
        ),
        (
            "a post from a sibling site",
            with_token(&victims_page.token),
            vec![
                ("host", HOST.into()),
                ("sec-fetch-site", "same-site".into()),
                ("cookie", victims_page.cookie.clone()),
            ],
        ),
        (
            "an opaque origin",
            with_token(&victims_page.token),
            vec![
                ("host", HOST.into()),
                ("origin", "null".into()),
                ("cookie", victims_page.cookie.clone()),
            ],
        ),
        (
            "a post from the same origin with no token",
            body.clone(),
            vec![
                ("host", HOST.into()),
                ("origin", origin.clone()),
                ("cookie", victims_page.cookie.clone()),
            ],
        ),
        (
            "a token that is not the cookie's",
            with_token(&attackers_page.token),
            vec![
                ("host", HOST.into()),
                ("origin", origin.clone()),
                ("cookie", victims_page.cookie.clone()),
            ],
        ),
        (
            "a token without the cookie",
            with_token(&victims_page.token),
            vec![("host", HOST.into()), ("origin", origin.clone())],
        ),
    ];
    for (case, body, headers) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = h.send(form_with(&body, &headers)).await;
        assert_eq!(reply.status, 403, "{case}: {}", reply.text);
        assert!(
            reply
                .text
                .contains("not sent from Journey&#39;s own sign-in page")
                || reply.text.contains("not sent from Journey's own sign-in page"),
            "{case}: {}",
            reply.text
        );
        let cookies: Vec<&str> = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            cookies.iter().all(|c| !c.starts_with("journey_session=")),
            "{case}: signed in: {cookies:?}"
        );
        // The form shown again carries a fresh token, so that the person can sign in from it.
        assert!(cookies.iter().any(|c| c.starts_with("journey_login=")), "{case}");
    }

    // The page's own form is taken, from a browser (same origin) and from a client that sends neither
    // Origin nor Sec-Fetch-Site (the token alone).
    let own = with_token(&victims_page.token);
    for headers in [
        vec![
            ("host", HOST),
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("cookie", victims_page.cookie.as_str()),
        ],
        vec![("cookie", victims_page.cookie.as_str())],
    ] {
        let reply = h.send(form_with(&own, &headers)).await;
        assert_eq!(reply.status, 303, "{headers:?}: {}", reply.text);
        assert!(
            reply.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("journey_session=")
        );
    }
}
