output "ingest_bucket" {
  description = "Upload media here; every new object starts ingest."
  value       = module.storage.ingest_bucket_name
}

output "derived_bucket" {
  description = "Results, under <assetId>/, and settings/options.json."
  value       = module.storage.derived_bucket_name
}

output "event_bus_name" {
  description = "The bus every mediasift event travels on; third parties add their rules here."
  value       = module.bus.bus_name
}

output "event_bus_arn" {
  description = "The bus's ARN."
  value       = module.bus.bus_arn
}

output "event_archive_arn" {
  description = "The bus archive, which keeps every event for replay."
  value       = module.bus.archive_arn
}

output "schema_registry_name" {
  description = "The Schema Registry holding every event's schema (contracts/schemas/)."
  value       = module.bus.registry_name
}

output "state_table" {
  description = "The DynamoDB table of every service's state."
  value       = module.state.table_name
}

output "functions" {
  description = "Each service's Lambda function name."
  value       = { for name, service in module.services : name => service.function_name }
}

output "dead_letter_queues" {
  description = "Each service's dead-letter queue URL (undeliverable events and failed invocations)."
  value       = { for name, service in module.services : name => service.dlq_url }
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms publish to."
  value       = module.alarms.topic_arn
}

output "neptune_endpoint" {
  description = "The graph's Neptune endpoint (https://...:8182); null when the graph is off."
  value       = one(module.graph[*].endpoint_url)
}
