"""Case files (dossiers): regularisation, asylum and renewal files and their workflows."""
