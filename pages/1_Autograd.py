import streamlit as st

st.title("Autograd".replace("_", " "))
st.info("This section is being built: it will run the tutorial's code live, with every value computed by torch.")
