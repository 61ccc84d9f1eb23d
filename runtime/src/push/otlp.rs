//! OTLP/HTTP protobuf encoding of a snapshot.
