output "bus_name" {
  description = "The custom bus's name."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "The custom bus's ARN."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "registry_name" {
  description = "The Schema Registry's name."
  value       = aws_schemas_registry.this.name
}

output "forward_dlq_name" {
  description = "The queue of events the default bus could not forward."
  value       = aws_sqs_queue.forward_dlq.name
}

output "archive_arn" {
  description = "The bus archive's ARN (the source of replays)."
  value       = aws_cloudwatch_event_archive.this.arn
}
