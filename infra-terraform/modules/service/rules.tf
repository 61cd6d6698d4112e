# The service's rules, exactly as its code declares them in contracts/rules/<service>.json:
# one rule on the custom bus per entry, targeting the function.

locals {
  contract = jsondecode(file(var.rules_file))
  rules    = { for rule in local.contract.rules : rule.name => rule }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = "${local.function_name}-${each.key}"
  description    = each.value.description
  event_bus_name = var.event_bus_name
  event_pattern  = jsonencode(each.value.eventPattern)

  lifecycle {
    precondition {
      condition     = local.contract.service == var.service
      error_message = "${var.rules_file} declares the rules of ${local.contract.service}, not ${var.service}."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = aws_cloudwatch_event_rule.this

  rule           = each.value.name
  event_bus_name = var.event_bus_name
  target_id      = "lambda"
  arn            = aws_lambda_function.this.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 8
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = aws_cloudwatch_event_rule.this

  statement_id  = "events-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}
