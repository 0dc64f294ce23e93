tls {
  defaults {
    ca_file         = "consul-agent-ca.pem"
    cert_file       = "dc1-server-consul-0.pem"
    key_file        = "dc1-server-consul-0-key.pem"
    verify_incoming = true
    verify_outgoing = true
  }
  internal_rpc {
    verify_server_hostname = true
  }
}
auto_encrypt {
  allow_tls = true
}
ports {
  https = 8501
}
