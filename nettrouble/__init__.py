"""Service logic of the ネットトラブルあんしんサポート assistant that does not depend on Rasa."""
