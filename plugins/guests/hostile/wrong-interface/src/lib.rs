//! Hostile: a perfectly good component that exports something other than a Journey policy.

wit_bindgen::generate!({
    inline: "
        package test:other;

        world other {
            export run: func() -> string;
        }
    ",
});

struct Other;

impl Guest for Other {
    fn run() -> String {
        "not a policy".to_string()
    }
}

export!(Other);
