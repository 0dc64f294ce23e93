service {
  name = "web"
  port = 8080
  tags = ["v1"]
  check {
    name     = "web alive"
    http     = "http://127.0.0.1:8080/health"
    interval = "10s"
  }
}
