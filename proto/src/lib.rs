//! holocron-proto: the Kafka wire protocol as Holocron speaks it, both sides.
