output "ingest_bucket_name" {
  description = "The bucket media is uploaded to."
  value       = aws_s3_bucket.this["ingest"].bucket
}

output "ingest_bucket_arn" {
  description = "The ingest bucket's ARN."
  value       = aws_s3_bucket.this["ingest"].arn
}

output "derived_bucket_name" {
  description = "The bucket results are written to."
  value       = aws_s3_bucket.this["derived"].bucket
}

output "derived_bucket_arn" {
  description = "The derived bucket's ARN."
  value       = aws_s3_bucket.this["derived"].arn
}
