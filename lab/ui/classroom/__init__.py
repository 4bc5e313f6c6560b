"""The Class page's Streamlit layer: the teacher's room and board, the student's join form, and the
line on the Optimizers page that says where its runs are posted. What they decide is in
lab/app/rooms.py and lab/app/classroom.py."""
