output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.this.function_name
}

output "dlq_name" {
  description = "The service's dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "The service's dead-letter queue URL."
  value       = aws_sqs_queue.dlq.url
}
