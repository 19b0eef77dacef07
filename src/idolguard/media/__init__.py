"""Media decoding with safety limits: type sniffing, probing, metadata, image and video frame access."""
