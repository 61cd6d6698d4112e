output "role_arn" {
  description = "The role ingest's MediaConvert jobs run as (MEDIASIFT_MEDIACONVERT_ROLE_ARN)."
  value       = aws_iam_role.this.arn
}
