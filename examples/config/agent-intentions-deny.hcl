default_intention_policy = "deny"
