"""Exercises: definitions from course packs, students' submissions and their grading lifecycle, drafts, staff pages."""
