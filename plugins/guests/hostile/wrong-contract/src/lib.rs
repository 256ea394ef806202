//! Hostile: a policy built against a contract version this host does not speak (`journey:policy@3.0.0`).

wit_bindgen::generate!({
    inline: "
        package journey:policy@3.0.0;

        interface policy {
            about: func() -> string;
        }

        world policy-plugin {
            export policy;
        }
    ",
});

struct FromTheFuture;

impl exports::journey::policy::policy::Guest for FromTheFuture {
    fn about() -> String {
        "a policy for contract 3.0.0".to_string()
    }
}

export!(FromTheFuture);
