//! Browser entry point: mount the app on `<body>`.

fn main() {
    // Readable panics in development builds; release builds leave the hook out (size budget).
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(frontend::App);
}
