"""Importing the old MongoDB app's exports: parsing them into an Odoo snapshot."""
