key_prefix "app/" { policy = "write" }
service "web" { policy = "read" }
node_prefix "" { policy = "read" }
