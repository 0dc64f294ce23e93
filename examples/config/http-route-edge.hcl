Kind = "http-route"
Name = "edge"
Parents = [
  {
    Kind = "api-gateway"
    Name = "api-gateway"
  }
]
Rules = [
  {
    Matches = [
      {
        Path = {
          Match = "prefix"
          Value = "/api"
        }
      }
    ]
    Filters = {
      Headers = [
        {
          Set = {
            "x-gateway" = "consulate"
          }
        }
      ]
      URLRewrite = {
        Path = "/v2api"
      }
      RetryFilter = {
        NumRetries = 3
        RetryOn    = ["5xx"]
      }
      JWT = {
        Providers = [
          {
            Name = "local"
          }
        ]
      }
    }
    Services = [
      {
        Name = "api"
      }
    ]
  },
  {
    Services = [
      {
        Name = "web"
      }
    ]
  }
]
