// placeholder: implemented by the config library
