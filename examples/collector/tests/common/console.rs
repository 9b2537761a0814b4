//! A browser's part in the console tests, over the wire-level client: a cookie jar, forms, and reading a page.

use footfall_collector::{AdminCredential, Collector};

use super::{Conn, Resp};

/// The admin password every console test starts its collector with.
pub const PASSWORD: &str = "correct horse battery";

/// The admin every console test signs in as.
pub fn admin() -> AdminCredential {
    AdminCredential { user: "maria".into(), password: PASSWORD.into() }
}

/// A browser's cookie jar for one collector, enough for the console's cookies.
pub struct Browser<'a> {
    collector: &'a Collector,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(collector: &'a Collector) -> Self {
        Browser { collector, cookies: Vec::new() }
    }

    pub fn request(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: String = form_body(form);
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        let resp = Conn::plain(self.collector).send(method, path, &headers, body.as_bytes()).unwrap();
        for (name, value) in &resp.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap();
                let (k, v) = pair.split_once('=').unwrap();
                self.cookies.retain(|(name, _)| name != k);
                if !value.contains("Max-Age=0") {
                    self.cookies.push((k.to_owned(), v.to_owned()));
                }
            }
        }
        resp
    }

    /// The same cookies, sent to another instance (as a load balancer would route the next request).
    pub fn on(&self, collector: &'a Collector) -> Browser<'a> {
        Browser { collector, cookies: self.cookies.clone() }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.request("POST", path, form)
    }

    pub fn sign_in(&mut self, password: &str) -> Resp {
        let page = self.get("/console/sign-in");
        let csrf = hidden(&page, "csrf");
        self.post("/console/sign-in", &[("csrf", &csrf), ("user", "maria"), ("password", password)])
    }
}

pub fn form_body(form: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        out.append_pair(k, v);
    }
    out.finish()
}

pub fn text(resp: &Resp) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

/// The value of the first hidden input named `name` on a page.
pub fn hidden(resp: &Resp, name: &str) -> String {
    let page = text(resp);
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} field on the page:\n{page}")) + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}
