"""What people read: the terminal's incident table and the demo's written report."""
