output "table_name" {
  description = "The state table's name (MEDIASIFT_STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "table_arn" {
  description = "The state table's ARN."
  value       = aws_dynamodb_table.state.arn
}

output "face_collection_id" {
  description = "The Rekognition face collection's id (MEDIASIFT_FACE_COLLECTION)."
  value       = aws_rekognition_collection.faces.collection_id
}

output "face_collection_arn" {
  description = "The face collection's ARN."
  value       = aws_rekognition_collection.faces.arn
}
