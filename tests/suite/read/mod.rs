//! Reading: arbitrary and incomplete inputs through the reader.

mod derived;
mod fuzz;
mod missing_template;
mod unknown_service;
