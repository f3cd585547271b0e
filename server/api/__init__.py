"""gRPC servicers: one thin module per service, converting between protobuf and the domain."""
