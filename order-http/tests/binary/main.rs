//! The real `order-http` binary, started as a user starts it: the README's
//! walkthrough, an order surviving SIGTERM and a restart on the default
//! SQLite file, and the start-up refusals of a misconfigured service.

mod process;
mod restart;
mod settings;
mod startup;
mod walkthrough;
