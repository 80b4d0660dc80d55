//! Reading: arbitrary and incomplete inputs through the reader.

mod fuzz;
mod missing_template;
mod unknown_service;
