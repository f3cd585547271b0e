"""`make bench`: the service's speed as ratios to a bare grpc.aio server measured beside it."""
