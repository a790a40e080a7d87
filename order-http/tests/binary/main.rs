//! The real `order-http` binary, started as a user starts it: the README's
//! walkthrough, an order surviving SIGTERM and a restart on the default
//! SQLite file, the start-up refusals of a misconfigured service, and
//! clients that never finish their requests.

mod fleet;
mod image;
mod kafka;
mod process;
mod restart;
mod seeds;
mod settings;
mod slow_clients;
mod startup;
mod walkthrough;
mod webhooks;
