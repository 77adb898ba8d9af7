"""Model runners on numpy (no transport): the catalog and store, onnxruntime sessions, face detection, expressions.

Heavy libraries (onnxruntime, cv2) are imported inside constructors, so importing this package stays cheap.
"""
