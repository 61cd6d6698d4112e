output "topic_arn" {
  description = "The topic every alarm publishes to."
  value       = aws_sns_topic.alarms.arn
}
