"""Courses, lessons, enrolment and roles, join codes, and the course-pack loader."""
