Kind = "service-intentions"
Name = "db"
Sources = [
  {
    Name = "web"
    Permissions = [
      {
        Action = "deny"
        HTTP {
          PathPrefix = "/admin"
          Methods    = ["POST"]
        }
      }
    ]
  }
]
