Kind = "api-gateway"
Name = "api-gateway"
Listeners = [
  {
    Name     = "https"
    Port     = 8443
    Protocol = "http"
    TLS = {
      Certificates = [
        {
          Kind = "inline-certificate"
          Name = "gw-cert"
        }
      ]
    }
  }
]
