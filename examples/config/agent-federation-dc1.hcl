# dc1's server in examples/federation/run.sh (default BASE_DIR and PORT_BASE, no TLS).
datacenter         = "dc1"
primary_datacenter = "dc1"
node_name          = "srv-dc1"
server             = true
bootstrap          = true
data_dir           = "/tmp/consulate-federation/dc1/data"
bind_addr          = "127.0.0.1"
client_addr        = "127.0.0.1"

ui_config {
  enabled = true
}

# The datacenter's log in JetStream.
nats {
  urls      = ["nats://127.0.0.1:27000"]
  replicas  = 1
  lease_ttl = "2s"
}

federation {
  nats = ["nats://127.0.0.1:27000"]
}

ports {
  http             = 27010
  dns              = 27011
  server           = 27012
  serf_lan         = 27013
  serf_wan         = 27014
  sidecar_min_port = 27050
  sidecar_max_port = 27099
}

retry_interval = "1s"

gossip_wan {
  probe_interval = "1s"
  probe_timeout  = "500ms"
}
