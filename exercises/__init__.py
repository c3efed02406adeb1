"""Exercises: definitions from course packs, students' submissions and drafts, staff pages."""
