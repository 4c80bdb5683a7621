output "instance_id" {
  value = aws_instance.this.id
}

output "arn" {
  value = aws_instance.this.arn
}

output "availability_zone" {
  value = aws_instance.this.availability_zone
}

output "private_ip" {
  value = aws_instance.this.private_ip
}

output "public_ip" {
  value = aws_instance.this.public_ip
}
