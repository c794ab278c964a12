"""(filled in below)"""
__all__: list = []
