"""Blueprint modules. Each module here defines a Flask ``bp`` (a Blueprint);
``webapp.app.create_app`` registers every one of them."""
